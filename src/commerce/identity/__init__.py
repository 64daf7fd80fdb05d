"""The identity context: users, their profiles and roles."""
