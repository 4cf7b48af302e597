"""Templates app: brands, fonts and assets designers build templates from."""
