package shared

// TestCollection lends the Mongo test helper to the package's external tests (shared_test), which
// need sharedtest and so cannot live in package shared.
var TestCollection = testCollection
