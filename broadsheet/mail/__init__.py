"""Mail building: what turns an article into the bytes handed to the relay (issue 15 gathers
it here from the top level of `broadsheet`)."""
