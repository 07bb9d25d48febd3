"""Business rules. Each public function takes a Session and commits once."""
