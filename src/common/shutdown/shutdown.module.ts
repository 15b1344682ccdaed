import { Module } from '@nestjs/common';
import { ShutdownState } from './shutdown-state.js';

/** The shutdown sequence's shared state: readiness (health) and the drain the event bus waits for. */
@Module({
  providers: [ShutdownState],
  exports: [ShutdownState],
})
export class ShutdownModule {}
