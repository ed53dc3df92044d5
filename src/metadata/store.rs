//! Reading a VG from its PVs and committing it. Owner: lead.
