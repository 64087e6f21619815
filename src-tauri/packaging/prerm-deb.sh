#!/bin/sh
# Removal (not an upgrade): take the admin CLI link away with the app.
if [ "$1" = "remove" ] || [ "$1" = "purge" ]; then
  rm -f /usr/bin/issuance-desk-admin
fi
