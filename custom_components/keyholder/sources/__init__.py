"""What feeds access from outside: booking calendars."""
