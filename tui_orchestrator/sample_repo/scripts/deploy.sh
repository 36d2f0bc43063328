#!/bin/sh
# Deploy the shop.
set -e
# BUG(high): unquoted variable lets a crafted TARGET run commands
rsync -a build/ $TARGET
echo "deployed to $TARGET"
