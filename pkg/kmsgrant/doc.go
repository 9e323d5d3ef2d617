// Package kmsgrant is ddconn's KMS adapter, the only importer of
// aws-sdk-go-v2/service/kms: the grants that let a managed key's readers in
// other accounts decrypt its secret through Secrets Manager.
//
// A reader's grant allows Decrypt on the connection key only for the one
// secret: its constraint EncryptionContextSubset {"SecretARN": <secret
// ARN>} matches the encryption context Secrets Manager sends when it
// decrypts that secret's values, and no other. Every grant ddconn creates
// carries Name GrantName, so a retried CreateGrant with the same
// parameters returns the grant it created rather than a second one.
package kmsgrant
