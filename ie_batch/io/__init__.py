"""Storage: listing and reading shards, writing results, and the commit manifest."""
