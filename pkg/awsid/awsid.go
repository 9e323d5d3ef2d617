package awsid

import "strings"

// IsAccountID reports whether s is an AWS account id: 12 digits.
func IsAccountID(s string) bool {
	return len(s) == 12 && strings.Trim(s, "0123456789") == ""
}

// IsEventBusName reports whether s is an EventBridge custom event bus name
// as PutEvents' model writes it: [.\-_A-Za-z0-9]+.
func IsEventBusName(s string) bool {
	return s != "" && strings.Trim(s, ".-_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == ""
}
