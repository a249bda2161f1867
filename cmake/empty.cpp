// Keeps every layer library non-empty while it is being written.
