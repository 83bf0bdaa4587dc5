"""The encoder classifier on the bench's classification sets: train, then dev figures and speed."""
