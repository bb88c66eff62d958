/**
 * LocalKms's engine: the KMS operations, key store, key policies, grants, request quota, fault
 * injection, SigV4 verification, the wire server and the trail behind {@link
 * com.panops.crypto.testkit.LocalKms}.
 *
 * <p><b>Not API; may change in any release.</b> The types here are public only because the public
 * testkit types in other packages use them. Tests use {@link com.panops.crypto.testkit.LocalKms},
 * {@link com.panops.crypto.testkit.Faults}, {@link com.panops.crypto.testkit.TrailEvent} and the
 * other types of {@code com.panops.crypto.testkit}.
 */
package com.panops.crypto.testkit.internal.kms;
