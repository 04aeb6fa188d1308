"""The tests, mirroring the packages: broadsheet/, web/, worker/, and e2e/ for what starts
processes; shared services and builders in support/."""
