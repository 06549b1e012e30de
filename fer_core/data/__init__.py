"""The data: FER2013 from its CSV or image folders (validated, cached), photos decoded, dataset statistics."""
