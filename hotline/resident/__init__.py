"""The resident side: the phone-first page and the ``/chat`` namespace."""
