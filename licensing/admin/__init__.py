"""Console pages for licences (the "Licenses tab"), lines, the catalogue and mass configuration.

Licences have no add or edit form: every change is an action or a small form that calls one
service (buy with a review, remove with a review, terminate, restore, assign, add-ons, extension).
Importing the package registers every admin (Django's autodiscovery imports `licensing.admin`).
"""

from licensing.admin import catalogue, licence_pages, licences, lines, mass_config

__all__ = ["catalogue", "licence_pages", "licences", "lines", "mass_config"]
