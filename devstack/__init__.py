"""The whole posbridge app on one machine: moto + template.yaml + local gateway + Wix and POS sandboxes."""
