"""posbridge: the shared library of the Wix Restaurants <-> POS bridge (shipped as a Lambda layer)."""

RESTAURANTS_APP_ID = "9a5d83fd-8570-482e-81ab-cfa88942ee60"
"""`catalogReference.appId` of Wix Restaurants Orders (New) line items."""
