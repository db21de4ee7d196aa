"""What is remembered: the vector store of samples and benchmarks, and build workspaces on disk."""
