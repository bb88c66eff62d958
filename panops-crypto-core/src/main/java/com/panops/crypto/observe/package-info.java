/**
 * How the library calls the application's observers (metrics sinks, audit sinks, listeners) so that
 * one that throws can never change what the library does. Internal: not exported.
 */
package com.panops.crypto.observe;
