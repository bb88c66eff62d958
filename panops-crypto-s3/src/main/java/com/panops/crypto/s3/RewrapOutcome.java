package com.panops.crypto.s3;

/** What re-wrapping did to one object. */
public enum RewrapOutcome {
  /** The object's data key was re-wrapped under the tenant's current CMK, and verified. */
  REWRAPPED,
  /** The object was already under the current CMK (a resumed run skips it). */
  ALREADY_CURRENT,
  /** The object is not a panops-encrypted object; left as it is. */
  NOT_ENCRYPTED,
  /** Re-wrapping failed (the error is reported with the event); the object is unchanged. */
  FAILED
}
