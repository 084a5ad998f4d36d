"""The app's pages: thin layers that turn widgets into configs and render results."""
