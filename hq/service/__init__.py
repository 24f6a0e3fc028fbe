"""`hq run`: the chain's head office (`hq.service.service.HeadOffice`)."""
