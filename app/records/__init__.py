"""The records layer: interactions and their documents in the database, no HTTP."""
