"""Home Assistant's ways in: actions, the websocket API."""
