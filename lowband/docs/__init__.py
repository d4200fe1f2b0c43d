"""Document formats: turning published files (Office zips) into forms that delta well.

Sans-IO like lowband.sync: no network, database or UI imports; the delta codec itself lives
in lowband.sync.delta.
"""
