"""The user's lab config file (`labconfig`) and the choice of cluster for each role of an
experiment (`selection`): flags, environment, config and manifest, in that order."""
