"""fastlin"""
