"""Revision files, named ``YYYY_MM_DD_<slug>.py``; static: ``op.*`` only, no ORM imports."""
