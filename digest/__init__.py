"""The digest core: fetch, select, summarize, store and render a day's arXiv papers.

Nothing in this package imports a chat platform library or reads the environment.
"""
