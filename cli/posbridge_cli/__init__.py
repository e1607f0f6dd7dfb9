"""posbridge's operator CLI (`posbridge ...`): talks to the admin API of a deployed stack or of the devstack.

Kept out of the Lambda layer: it is installed with the project (`pip install -e '.[cli]'`), not shipped to AWS."""
