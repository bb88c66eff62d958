/** Helpers the testkit's launchers share. Not API; may change in any release. */
package com.panops.crypto.testkit.internal;
