"""Administration: staff accounts and the community-resource directory."""
