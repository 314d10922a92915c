"""Where access-token checking meets the outside world: the project's public signing
keys fetched over HTTP (``jwks``) and the development secret kept in a file
(``dev_secret``). The rules a token must meet stay with the API's wiring."""
