"""
Guests from booking calendars: each event of a bound calendar is a guest's key.

A booking subentry binds a Home Assistant calendar entity (a local calendar, the
iCal feed of a rental platform...) to some of the site's locks. The booking is
one keyholder, its guests; every event in the calendar becomes one passcode key
of that keyholder, named after the event and valid from its start minus the
grace time until its end plus the grace time. A moved event moves its key (same
passcode), a deleted event cancels it, and keys of stays that are over are
removed, so a busy rental does not pile up guests. Which event holds which key is
kept in the site's store (``SiteData.bookings``).

The passcode goes once to the booking's notify entity, through the entity's
own handler of ``notify.send_message`` (never as an action call, whose data
Home Assistant records). Events are read with the ``calendar.get_events`` action, over a bounded window,
whenever the calendar entity's state changes and every ``UPDATE_INTERVAL``
(a remote calendar's state does not change when a future booking is added).

The rooms: ``events`` reads a calendar's answer into stays and pairs moved
events (no Home Assistant state), ``config`` what a booking subentry says,
``guest_keys`` brings a booking's keys in line with its stays, ``messages``
sends each guest's code once, ``watcher`` follows one calendar and
``calendars`` runs one watcher per booking subentry of a site.
"""
