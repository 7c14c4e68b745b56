// Package mitdump reads and writes MIT Kerberos database dumps, the text
// that `kdb5_util dump` prints and `kdb5_util load` reads ("kdb5_util
// load_dump version 7", the default since MIT 1.11; the same command dumps
// LDAP-backed realms), and the MIT master key that protects the keys in them.
//
// It owns:
//   - the dump codec: Parse turns a dump into typed records (principals and
//     policies) with every size bounded and every error naming its line;
//     Write prints records back in the form `kdb5_util load` accepts
//     (dump.go);
//   - the kadmin data MIT keeps in a principal's tagged data (the policy
//     name, kadm.go);
//   - the MIT master key: its stash file (keytab format, or the old
//     enctype/length/key format), derivation from the master password with
//     the K/M principal's salt, and the decryption and encryption of key
//     data with it (masterkey.go);
//   - MIT's salt types and the salt bytes each one means (salt.go);
//   - the mapping to and from kdcha's import and export (convert.go): which
//     MIT principals are skipped, which keys are usable, attribute bits.
//
// It does not own the kdcha database (package db stores and checks what is
// imported): it has no I/O beyond the reader and writer it is given, so
// that it can be fuzzed. It is a package of its own because neither the
// KDC nor the replicated store should know MIT's on-disk formats.
//
// Tests: golden dumps made by MIT kdb5_util (testdata/) parse, decrypt and
// round-trip byte for byte; malformed dumps are refused with their line
// number (table tests and FuzzParse); keys encrypted here decrypt with the
// same code and, in cmd/kdcha's end-to-end test, load into MIT.
package mitdump
