print("samhand")
