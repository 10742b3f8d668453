"""Media plumbing (issue 17) that needs no model logic: the storage alias, mimetype sniffing,
signed links and the Pillow thumbnailer. The services in messaging.services.media use them."""
