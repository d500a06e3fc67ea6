"""The user's own package named `app`: the plugin must not shadow it."""
OWNER = "the user's project"
