"""
Subentry flows of a site: locks, keyholders, booking calendars, access groups.

One module per subentry type (``locks``, ``keyholders``, ``bookings``,
``groups``), the lock families' form fields and checks in ``lock_forms``, the
keyholder flow's access and key steps in ``keyholder_access``, the schedule
fields the group and access forms share in ``schedule_form`` and what every
flow shares in ``base``. ``config_flow.py`` names the flow classes to Home Assistant.
"""
