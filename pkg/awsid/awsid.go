package awsid

import "strings"

// IsAccountID reports whether s is an AWS account id: 12 digits.
func IsAccountID(s string) bool {
	return len(s) == 12 && strings.Trim(s, "0123456789") == ""
}
