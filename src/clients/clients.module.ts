import { Module } from '@nestjs/common';

/** Account and organization service clients (HttpService), with resilience. */
@Module({})
export class ClientsModule {}
