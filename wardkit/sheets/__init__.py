"""Printed QR onboarding sheets: per household and per residential group, as PDF
(WeasyPrint) or an HTML preview, and the household QR's landing route."""
