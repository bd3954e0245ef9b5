"""Printed join QR codes: posters, table tents, window stickers and counter cards as PDF."""
