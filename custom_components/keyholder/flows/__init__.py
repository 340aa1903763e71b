"""
Subentry flows of a site: locks, keyholders and booking calendars (reconfigurable).

One module per subentry type (``locks``, ``keyholders``, ``bookings``), the lock
families' form fields and checks in ``lock_forms`` and what every flow shares in
``base``. ``config_flow.py`` names the flow classes to Home Assistant.
"""
