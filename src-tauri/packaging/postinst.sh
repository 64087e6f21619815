#!/bin/sh
# The admin CLI is the app binary under another name (one copy of the code in the package).
ln -sf /usr/bin/issuance-desk /usr/bin/issuance-desk-admin
