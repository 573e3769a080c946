"""Knowledge in, nearest answers out: the knowledge base, the embedder and the FAISS index.

This layer imports nothing else of the project: it is handed folders, paths and parameters.
"""
