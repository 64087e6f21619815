#!/bin/sh
# Erase (not an upgrade): take the admin CLI link away with the app.
if [ "$1" = "0" ]; then
  rm -f /usr/bin/issuance-desk-admin
fi
