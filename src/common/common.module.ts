import { Global, Module } from '@nestjs/common';
import { Clock, SystemClock } from './clock/clock.js';
import { IdleMemoryReducer, MEMORY_RUNTIME, processMemory } from './memory/idle-memory-reducer.js';

/**
 * Cross-cutting providers every module may inject: the clock. Also the process's idle memory
 * reducer (MEMORY_IDLE_GC_MS), which nothing injects: it runs on its own timer.
 */
@Global()
@Module({
  providers: [{ provide: Clock, useClass: SystemClock }, { provide: MEMORY_RUNTIME, useFactory: processMemory }, IdleMemoryReducer],
  exports: [Clock],
})
export class CommonModule {}
