"""Zigbee2MQTT locks over a real Mosquitto broker."""
